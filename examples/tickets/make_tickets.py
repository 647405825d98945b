#!/usr/bin/env python3
"""Build the Harbor Mutual Bank ticket-routing dataset (synthetic).

Every message is composed from the hand-written templates and slot
vocabularies below (written for this repository), so the output is fully
reproducible from SEED. Python 3 standard library only.

    python3 examples/tickets/make_tickets.py            # writes next to this file
    python3 examples/tickets/make_tickets.py --out DIR

Guarantees, checked before anything is written:
  * 5 labels, stratified: train 40, val 10, test 25 items per label;
  * every message is unique after lower-casing and stripping punctuation,
    and so is its core (the message without greeting, sign-off or typo);
  * templates are split-disjoint: each template feeds exactly one split, so no
    template+slot combination (or near copy of one) appears in two splits;
  * every message has 8 to 30 words.
"""

import argparse
import json
import os
import random
import re
import string

SEED = 20240611
LABELS = ["cards", "payments", "lending", "fraud", "access"]
PER_LABEL = {"train": 40, "val": 10, "test": 25}
# Templates per label go to one split only: 10 train, 3 val, 7 test (20 total).
TEMPLATES_PER_SPLIT = {"train": 10, "val": 3, "test": 7}
MIN_WORDS, MAX_WORDS = 8, 30

# ---------------------------------------------------------------- slots
SLOTS = {
    "card": ["debit card", "credit card", "Visa debit", "contactless card",
             "Mastercard", "travel card", "business debit card", "gold credit card"],
    "place": ["on the bus", "at the gym", "in a taxi", "at the airport",
              "somewhere in town", "at a restaurant", "on the train", "at the cinema"],
    "when": ["yesterday", "this morning", "last night", "on Saturday", "an hour ago",
             "on Monday", "earlier today", "at the weekend"],
    "when_long": ["last week", "ten days ago", "a fortnight ago", "on the 3rd",
                  "over a week ago"],
    "shop": ["the supermarket", "a petrol station", "an online shop", "the pharmacy",
             "a hotel in Lisbon", "a ticket machine", "the garden centre",
             "a restaurant abroad"],
    "days": ["three days", "a week", "two weeks", "ten days", "five working days",
             "nearly a month"],
    "amount": ["£45", "£120", "£250", "£600", "£1,200", "€300", "€2,500", "£75",
               "£3,000", "£180"],
    "small": ["£9.99", "£4.50", "£12", "£1", "£25", "£2.99"],
    "contactless": ["£30", "£45", "£50", "£100"],
    "limit_amount": ["£1,500", "£2,000", "£2,500", "£3,000"],
    "big": ["a holiday", "new tyres", "a laptop", "a rental deposit", "flights",
            "a second-hand scooter"],
    "adduser": ["partner", "husband", "wife", "teenage son", "daughter"],
    "person": ["sister", "landlord", "builder", "son", "flatmate", "accountant",
               "cousin", "daughter", "plumber", "mum"],
    "company": ["my gym", "the electricity company", "my phone provider", "the council",
                "my car insurer", "the water company", "my broadband provider"],
    "country": ["Poland", "Canada", "Spain", "India", "Germany", "Kenya", "Australia",
                "Italy", "Brazil", "Ireland"],
    "loan_amount": ["£5,000", "£8,000", "£12,000", "£15,000", "£20,000", "£3,500"],
    "purpose": ["a car", "a new kitchen", "home repairs", "my wedding", "a new boiler",
                "some furniture", "a loft conversion"],
    "overdraft": ["£500", "£750", "£1,000", "£1,500", "£2,000", "£300"],
    "years": ["two", "three", "five", "ten"],
    "months": ["two months", "three months", "six weeks", "a couple of months",
               "four months"],
    "salary": ["£32,000", "£45,000", "£58,000", "£60,000", "£71,500"],
    "loan": ["car loan", "personal loan", "home improvement loan", "loan"],
    "debts": ["credit card debts", "store card balances", "two credit cards",
              "credit card and catalogue debts"],
    "fee": ["£999", "£1,499", "£495", "£1,099"],
    "shady": ["an online casino", "a shop called Velmora Trading", "a gaming website",
              "a website I've never heard of", "a crypto exchange",
              "an electronics store abroad", "a streaming service I don't use",
              "a dating site"],
    "msg": ["a text", "a WhatsApp message", "an email", "an SMS"],
    "refund": ["a tax refund", "a refund", "a compensation payment", "a prize draw"],
    "relative": ["mum", "dad", "grandmother", "neighbour", "uncle", "elderly father"],
    "count": ["two", "three", "four", "several"],
    "item": ["a puppy", "concert tickets", "a used car", "a sofa", "a games console"],
    "online": ["on a dating app", "on social media", "in an online game", "on a forum"],
    "device": ["new iPhone", "new Android phone", "new phone", "replacement phone",
               "work phone"],
    "channel": ["the app", "online banking", "the website", "the mobile app",
                "internet banking"],
    "times": ["three times", "four times", "twice", "five times"],
    "since": ["since yesterday", "since this morning", "all week", "since Friday",
              "for two days", "since the last update"],
    "emailtype": ["work", "university", "school", "previous"],
}

# ---------------------------------------------------------------- templates
# (style, text). Style picks the greetings and sign-offs that may be added:
# P polite, N neutral, T terse or angry (no greeting).
TEMPLATES = {
    "cards": [
        ("N", "I lost my {card} {place} {when}. Can you block it and send a replacement?"),
        ("N", "My {card} was declined at {shop} {when} even though I have plenty of money in the account."),
        ("N", "I've forgotten the PIN for my {card}. How do I get a new one?"),
        ("T", "Still no sign of the {card} you posted out {days} ago. Where is it?"),
        ("T", "My {card} got rejected AGAIN at {shop}. Embarrassing. What is going on?"),
        ("P", "Could you raise the daily spending limit on my {card} to {limit_amount}? I need to pay for {big} this week."),
        ("N", "The cash machine kept my {card} {when} and I've got no other way to get money."),
        ("N", "I entered the wrong PIN {pin_tries} and now my {card} is blocked. Can you unblock it?"),
        ("T", "my {card} snapped in half {when}, how do i order a new one"),
        ("N", "Can I freeze my {card} for now? I think I left it {place} but I'm not sure."),
        ("P", "I'm travelling to {country} soon. Will my {card} work there or should I let you know first?"),
        ("N", "Contactless stops working above {contactless}. Can the limit on my {card} be changed?"),
        ("N", "The replacement {card} arrived {when} but it won't activate at the cash machine."),
        ("T", "Why was my card payment at {shop} declined twice {when}? Sort it out."),
        ("P", "Can I change the PIN on my {card} at a branch, or only at a cash machine?"),
        ("N", "The chip on my {card} is worn out and the card reader at {store} won't accept it."),
        ("P", "Please send my replacement {card} to my work address instead of home. It was reported lost {when}."),
        ("N", "My {card} expires {expiry} and the new one still hasn't come. Will it be sent automatically?"),
        ("N", "My {card} was cancelled after I reported it lost, but I found it {place}. Can I use it again?"),
        ("P", "Is it possible to get a second {card} for my {adduser} on my account?"),
    ],
    "payments": [
        ("N", "I sent {amount} to my {person} {when} but it still shows as pending. When will it arrive?"),
        ("P", "How do I set up a standing order of {amount} a month to my {person}?"),
        ("N", "The direct debit for {company} was taken twice this month. Can you refund the duplicate?"),
        ("N", "My transfer to my {person} came back as returned, but the account number was definitely right. Sent it {when}."),
        ("P", "Could you tell me the SWIFT code and IBAN I need to receive money from {country}?"),
        ("N", "I need to send {eur_amount} by SEPA transfer to a supplier in {eu_country}. How long will it take?"),
        ("P", "Please cancel the standing order to my {person} from the {day}. It is no longer needed."),
        ("T", "Transfer still not received after {days}. The person I paid is furious. Sort it out."),
        ("N", "Can I move the date my direct debit to {company} is collected? My payday has changed."),
        ("T", "i put the wrong sort code on a payment {when}, can it be stopped??"),
        ("N", "What is the daily limit for online transfers? I need to move {big_amount} to my {person}."),
        ("T", "My international payment to {country} got returned and you still took a fee. Why?"),
        ("N", "How do I add a new payee in {channel} so I can pay my {person} back?"),
        ("N", "My employer says my wages were sent {when} but nothing has arrived in my account yet."),
        ("N", "I paid {company} {bill_amount} by bank transfer {when} but they say nothing arrived. Can you trace it?"),
        ("P", "Is there a charge for sending {amount} abroad by SWIFT? It is going to {country}."),
        ("N", "A payment I made to {company} bounced back into my account after {days}. What went wrong?"),
        ("N", "I want to stop the direct debit to {company} because I've switched to another provider."),
        ("T", "Standing order to my {person} didn't go out this month. They're waiting on the money."),
        ("N", "Can I schedule a one-off transfer of {amount} to my {person} for the first of next month?"),
    ],
    "lending": [
        ("P", "I'd like to borrow {loan_amount} for {purpose}. What interest rate could I expect?"),
        ("N", "Could you increase my overdraft limit to {overdraft}? Things are tight until payday."),
        ("T", "My mortgage payment went up by {small_fee} this month and nobody told me why. Explain please."),
        ("N", "Can I pay off my {loan} early, and is there a penalty for doing that?"),
        ("N", "I lost my job {when_long} and I'm going to miss my next {loan} repayment. What are my options?"),
        ("P", "What is your current {years}-year fixed mortgage rate? We are buying our first home."),
        ("N", "My fixed mortgage deal ends in {months} and I want to remortgage with you."),
        ("N", "Where can I find the repayment schedule for my {loan}? I need it to plan my budget."),
        ("T", "Why is the interest on my {loan} so high?? This is daylight robbery."),
        ("N", "I applied for a {loan} {when_long} and still haven't heard back. How long does a decision take?"),
        ("P", "Would it be possible to take a payment holiday on my mortgage for {months}?"),
        ("N", "I'd like to move my monthly {loan} payment from the 1st to the {day} of the month."),
        ("N", "Will asking for an overdraft increase to {overdraft} affect my credit score?"),
        ("P", "How much could we borrow for a mortgage on a joint income of {salary}?"),
        ("N", "Your website calculator quoted one rate for a {loan} but my offer letter shows a higher one."),
        ("N", "I want to combine my {debts} into one personal loan. Do you offer debt consolidation?"),
        ("N", "Can I overpay my mortgage by {overpay} a month so it's paid off sooner?"),
        ("N", "The arrangement fee on my mortgage offer is {fee}. Can it be added to the loan?"),
        ("T", "My {overdraft} overdraft is costing a fortune in interest. Can I turn it into a loan I can repay?"),
        ("N", "I'm {months} behind on my {loan} repayments and want to agree a plan before it gets worse."),
    ],
    "fraud": [
        ("N", "There's a charge of {amount} from {shady} on my {card} that I never made."),
        ("N", "I got {msg} saying it's from Harbor Mutual and asking me to confirm my details through a link. Is it real?"),
        ("N", "Someone rang me {when} pretending to be from your fraud team and asked for my PIN."),
        ("T", "There are {count} transfers to people I've never heard of. Someone is in my account!!"),
        ("N", "I had an email about {refund} from Harbor Mutual with a login link. It looks dodgy to me."),
        ("N", "{count_cap} payments of {small} appeared overnight and I didn't authorise any of them."),
        ("N", "I entered my card details on a fake parcel delivery website {when}. What should I do now?"),
        ("T", "The email and phone number on my account were changed {when} and it wasn't me!"),
        ("N", "A man on the phone told my {relative} to move their savings into a 'safe account'. Is that a scam?"),
        ("N", "An unknown direct debit from {shady} is on my statement. I never signed up to anything."),
        ("N", "Somebody used my {card} in {country} {when} while it was in my wallet the whole time."),
        ("T", "I clicked a link in {msg} about my account being suspended and typed in my password. Panicking."),
        ("N", "I got a one-time code I never asked for, and then a payment of {amount} went out."),
        ("N", "My {relative} got a call from someone claiming to be the bank and gave away their card details."),
        ("N", "There are purchases from {shady} on my statement that I don't recognise at all."),
        ("T", "wtf is this {amount} cash withdrawal {when}?? wasn't me, I was at home"),
        ("N", "A seller asked me to pay {price} by bank transfer for {item} and now they've vanished."),
        ("P", "I think I've been scammed by someone I met {online} who kept asking me to send money. Can you help?"),
        ("N", "A new {card} I never ordered came in the post {when}, and there are already charges on it."),
        ("N", "Someone logged into my online banking from {country} {when}. I have never been there."),
    ],
    "access": [
        ("N", "I can't log in to {channel}, it keeps saying my password is wrong even though it isn't."),
        ("T", "Password reset email never arrives. Tried {times} {since}. Useless."),
        ("N", "My online profile was locked after I mistyped my password {times}. Could you unlock it?"),
        ("N", "I got a {device} and {channel} won't send me the security code any more."),
        ("N", "I changed my mobile number {when}. How do I update it so the 2FA texts come to the new one?"),
        ("T", "The verification code for {channel} expires before I can even type it in. Annoying."),
        ("N", "I need to change the email address on my account because my {emailtype} email has been closed."),
        ("N", "I've forgotten my username for {channel}. Can you remind me what it is?"),
        ("N", "When I register for {channel} it asks for my card number and PIN, then fails every time."),
        ("T", "Locked out of {channel} AGAIN {since}. Not happy at all."),
        ("N", "I don't get the SMS code when I try to log in to {channel} while I'm in {country}."),
        ("N", "Why has {channel} been logging me out every few minutes {since}?"),
        ("P", "How do I switch two-factor authentication from text messages to the authenticator app on my {device}?"),
        ("N", "I want to add my {device} as a trusted device for {channel} and remove the old one."),
        ("N", "I can't approve a payment because the code from {channel} hasn't been coming through {since}."),
        ("N", "Online banking says my security answers are wrong. I've tried {times} and I'm sure they're right."),
        ("T", "cant get into {channel} {since}, keeps saying profile suspended"),
        ("N", "Fingerprint login stopped working on my {device} {when}. How do I set it up again?"),
        ("P", "Could you help me reset my online banking password? I can't open my {emailtype} email any more."),
        ("N", "The app says my {device} is not recognised and wants a code sent to my old number."),
    ],
}
SLOTS["expiry"] = ["next week", "at the end of the month", "on Friday", "in ten days", "next month"]
SLOTS["store"] = ["the supermarket", "a petrol station", "the pharmacy", "the garden centre",
                  "the corner shop", "the bakery"]
SLOTS["price"] = ["£150", "£400", "£850", "£1,300", "£2,200"]
SLOTS["big_amount"] = ["£8,000", "£12,500", "£20,000", "£30,000"]
SLOTS["eu_country"] = ["Poland", "Spain", "Germany", "Italy", "Ireland", "France", "Portugal",
                       "the Netherlands"]
SLOTS["eur_amount"] = ["€300", "€950", "€2,500", "€4,200", "€780"]
SLOTS["pin_tries"] = ["three times", "four times", "five times", "too many times"]
SLOTS["overpay"] = ["£50", "£100", "£200", "£250", "£500"]
SLOTS["bill_amount"] = ["£45", "£75", "£120", "£180", "£250", "£64.20"]
SLOTS["small_fee"] = ["£40", "£85", "£120", "£210", "£65"]
SLOTS["day"] = ["15th", "20th", "28th", "10th"]
SLOTS["count_cap"] = ["Two", "Three", "Four", "Several", "Five"]

OPENERS = {
    "P": ["Hello,", "Hi,", "Good morning,", "Good afternoon,", "Dear Harbor Mutual,",
          "Hi there,", "Hello there,"],
    "N": ["Hi,", "Hello,", "Hey,"],
    "T": [],
}
CLOSERS = {
    "P": ["Thank you.", "Thanks in advance.", "Many thanks.", "Kind regards.",
          "I appreciate your help.", "Thanks for your help."],
    "N": ["Thanks.", "Cheers.", "Please help.", "Any advice?", "Thanks!"],
    "T": ["Not impressed.", "Ridiculous.", "Sort it out.", "Fix this now.", "Seriously?"],
}
P_OPEN = {"P": 0.7, "N": 0.35, "T": 0.0}
P_CLOSE = {"P": 0.7, "N": 0.35, "T": 0.3}
P_TYPO = {"P": 0.0, "N": 0.12, "T": 0.25}
# One misspelling per affected message, as customers type them.
TYPOS = {
    "account": "acount", "received": "recieved", "password": "pasword",
    "transfer": "tranfer", "definitely": "definately", "replacement": "replacment",
    "haven't": "havent", "wasn't": "wasnt", "can't": "cant", "I'm": "im",
    "payment": "paymnet", "statement": "statment", "mortgage": "morgage",
    "interest": "intrest", "arrived": "arived", "please": "pls", "blocked": "blokced",
    "authorise": "authorize", "recognise": "recognize", "through": "thru",
    "automatically": "automaticaly", "scammed": "scamed", "verification": "verifcation",
}
KEEP_CAPS = ("Harbor", "Mastercard", "Visa")


def norm(text):
    """Lower-case, drop punctuation, collapse spaces: the uniqueness key."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in string.punctuation and ch not in "£€")
    return " ".join(text.split())


def fields(template):
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def with_opener(opener, core):
    first = core.split()[0]
    keep = (re.fullmatch(r"I('m|'ve|'d|'ll)?", first) or (first.isupper() and len(first) > 1)
            or first.startswith(KEEP_CAPS))
    return opener + " " + (core if keep else core[0].lower() + core[1:])


def add_typo(rng, text):
    words = [w for w in TYPOS if re.search(r"(?<![\w'])" + re.escape(w) + r"(?![\w'])", text)]
    if not words:
        return text
    w = rng.choice(sorted(words))
    return re.sub(r"(?<![\w'])" + re.escape(w) + r"(?![\w'])", TYPOS[w], text, count=1)


def compose(rng, style, template, used_cores):
    """One message from template, or None when no new core was found."""
    names = fields(template)
    for _ in range(200):
        core = template.format(**{n: rng.choice(SLOTS[n]) for n in names})
        key = norm(core)
        if key in used_cores:
            continue
        text = core
        if OPENERS[style] and rng.random() < P_OPEN[style]:
            text = with_opener(rng.choice(OPENERS[style]), text)
        # No second sign-off when the template already ends with one.
        if rng.random() < P_CLOSE[style] and not any(c in core for c in CLOSERS["T"]):
            if text[-1] not in ".!?":
                text += "."
            text = text + " " + rng.choice(CLOSERS[style])
        if rng.random() < P_TYPO[style]:
            text = add_typo(rng, text)
        if not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
            continue
        used_cores.add(key)
        return text
    return None


def build(seed):
    rng = random.Random(seed)
    used_cores, used_texts = set(), set()
    splits = {s: [] for s in PER_LABEL}
    for label in LABELS:
        templates = list(TEMPLATES[label])
        assert len(templates) == sum(TEMPLATES_PER_SPLIT.values()), label
        order = list(range(len(templates)))
        rng.shuffle(order)
        start = 0
        for split, n_tpl in TEMPLATES_PER_SPLIT.items():
            mine = order[start:start + n_tpl]
            start += n_tpl
            items, i, misses = [], 0, 0
            while len(items) < PER_LABEL[split]:
                style, tpl = templates[mine[i % len(mine)]]
                i += 1
                text = compose(rng, style, tpl, used_cores)
                if text is None or norm(text) in used_texts:
                    misses += 1
                    if misses > 1000:
                        raise SystemExit(f"templates for {label}/{split} ran out of combinations")
                    continue
                used_texts.add(norm(text))
                items.append({"prompt": f"Message: {text}\nDepartment:", "label": label})
            splits[split].extend(items)
    for split in splits:
        rng.shuffle(splits[split])
    return splits


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=here, help="output directory (default: next to this script)")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    splits = build(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for split, items in splits.items():
        path = os.path.join(args.out, f"{split}.jsonl")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for item in items:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
        counts = {l: sum(1 for x in items if x["label"] == l) for l in LABELS}
        print(f"{path}: {len(items)} items {counts}")


if __name__ == "__main__":
    main()
