#!/usr/bin/env python3
"""Build the Harbor Desk house-style preference set (DPO and reward models).

Every question and preferred answer below was written by hand for this
repository. A preferred ("chosen") answer is one sentence, a newline and the
sign-off line SIGN_OFF. The "rejected" answer is what the base model,
SmolLM2-135M-Instruct, answers itself (greedy, through `whet generate`); those
answers are kept in base_answers.jsonl so that rebuilding needs no model.

    python3 examples/house-style/make_house_style.py              # rebuild files
    python3 examples/house-style/make_house_style.py --generate   # fill the cache first

Guarantees, checked before anything is written:
  * no question appears twice (after lower-casing and dropping punctuation);
  * no two questions are near-duplicates: the Jaccard similarity of their
    content-word stems stays below NEAR_DUPLICATE (the closest pairs are printed);
  * every chosen answer follows the house style (follows_house_style);
  * every question of the pairs has a cached base-model answer.
Python 3 standard library only.
"""

import argparse
import concurrent.futures
import itertools
import json
import os
import random
import re
import subprocess
import sys
import threading

SEED = 20261205
SIGN_OFF = "— Harbor Desk"
SPLIT_SIZES = {"val": 20, "test": 50}  # train takes the rest
NEAR_DUPLICATE = 0.5
CACHE = "base_answers.jsonl"
# The base model's answers: greedy, 96 new tokens at most, f32 weights, the
# model's own chat template and system prompt. One thread per process gives
# the same greedy tokens and is much faster on a busy machine.
GENERATE_ARGS = ["generate", "--weights", "f32", "--temperature", "0",
                 "--max-tokens", "96", "--threads", "1"]

# Abbreviations whose full stop does not end a sentence (none is used in the
# chosen answers today; listed so the rule is exact).
ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "Mr.", "Mrs.", "Ms.", "Dr.", "St.", "approx.")

# ---------------------------------------------------------------- questions
# (question, one-sentence answer), by topic.
PAIRS = [
    # home
    ("How do I remove a coffee stain from a white shirt?",
     "Blot the stain, rinse it from the back with cold water, then rub in a little liquid detergent and wash the shirt as usual."),
    ("Why does my bathroom mirror fog up after a shower?",
     "Warm, moist air from the shower condenses into tiny droplets when it touches the cooler glass."),
    ("What is the best way to unclog a slow kitchen sink?",
     "Pour a kettle of hot water down the drain, and if that fails, use a plunger or clean out the trap under the sink."),
    ("How often should I change the filter in my vacuum cleaner?",
     "Most manufacturers suggest washing or replacing it every three to six months, or sooner if the suction drops."),
    ("Should I turn off the lights when I leave a room for a few minutes?",
     "Yes, switching off modern LED lights saves energy even for short absences and does not noticeably shorten their life."),
    ("Can I put aluminium foil in the microwave?",
     "It is best not to, because foil can spark and damage the oven or even start a fire."),
    ("Tell me how to get rid of a musty smell in a wardrobe.",
     "Empty it, air it with the doors open, wipe it with diluted vinegar and leave an open bowl of baking soda inside."),
    ("How can I descale a kettle without special products?",
     "Boil a mix of equal parts water and white vinegar, let it stand for an hour, then rinse and boil clean water twice."),
    ("Why do light bulbs sometimes flicker?",
     "Flicker usually comes from a loose bulb, a worn switch, a poor connection or a dimmer that does not suit the bulb."),
    ("Give me a quick tip for folding a fitted sheet.",
     "Tuck the corners into each other to make a rectangle, then fold it like an ordinary flat sheet."),
    ("What temperature should my fridge be set to?",
     "Keep the fridge between 3 and 5 degrees Celsius so food stays cold without freezing."),
    ("How do I stop a door from squeaking?",
     "Lift the hinge pin a little, put a drop of oil on it and open and close the door a few times."),
    ("Is it safe to mix bleach with other cleaners?",
     "No, bleach mixed with ammonia or acidic cleaners releases toxic gases, so always use it on its own."),
    ("Explain why houseplants near a radiator often struggle.",
     "The radiator dries the air and the soil quickly, so the leaves lose water faster than the roots can replace it."),
    ("How do I find a stud in a wall without a stud finder?",
     "Knock along the wall and listen for a duller, solid sound, then confirm it with a small nail where the hole will not show."),
    ("What is the easiest way to clean an oven?",
     "Spread a paste of baking soda and water inside, leave it overnight, then wipe it off and spray vinegar to lift the rest."),
    ("Why does bread go stale faster in the fridge?",
     "Cold temperatures speed up the way the starch in bread recrystallises, which makes it firm and dry."),
    ("Can I paint over wallpaper?",
     "You can if the paper is firmly stuck and smooth, but removing it first usually gives a more lasting finish."),
    ("What should I do if my smoke alarm keeps chirping?",
     "A regular chirp usually means the battery is low, so replace it and press the test button."),
    # cooking
    ("How long should I boil an egg for a runny yolk?",
     "Lower the egg into boiling water for about six minutes, then cool it briefly under cold water."),
    ("Why do onions make you cry?",
     "Cutting an onion releases a sulphur compound that turns into a gas which irritates the eyes."),
    ("What is the difference between baking soda and baking powder?",
     "Baking soda needs an acid in the recipe to make a dough rise, while baking powder already contains its own acid."),
    ("How can I tell if an egg is still fresh?",
     "Place it in a bowl of water, where a fresh egg sinks and lies flat while an old one stands up or floats."),
    ("Should I rinse pasta after cooking it?",
     "Not for hot dishes, because the starch on its surface helps the sauce cling to the pasta."),
    ("Give me a simple way to cook rice on the stove.",
     "Simmer one cup of rinsed white rice with two cups of water under a lid for about fifteen minutes, then let it rest for five."),
    ("Why do people add salt to pasta water?",
     "Salt in the water seasons the pasta from the inside as it absorbs water while it cooks."),
    ("What does it mean to fold ingredients together?",
     "Folding means gently turning a mixture over with a spatula so that the air already beaten into it is not knocked out."),
    ("How do I stop a cut avocado from turning brown?",
     "Brush the cut surface with lemon juice and wrap it tightly so that less air reaches it."),
    ("Can I freeze cooked rice?",
     "Yes, cool it quickly, freeze it within an hour or two in a sealed container and reheat it until it is steaming hot."),
    ("What makes a cake sink in the middle?",
     "A cake usually sinks when it is underbaked, when the oven door is opened too early or when it has too much raising agent."),
    ("How do I know when a steak is medium rare?",
     "A medium rare steak feels soft but springy and reads about 55 to 57 degrees Celsius in the centre."),
    ("Why should meat rest after cooking?",
     "Resting lets the juices settle back into the meat so they do not run out when it is cut."),
    ("Suggest a substitute for buttermilk in a recipe.",
     "Stir a tablespoon of lemon juice or vinegar into a cup of milk and let it stand for ten minutes."),
    ("What is the safest way to thaw frozen chicken?",
     "Thaw it slowly in the fridge on a plate on the bottom shelf, never on the kitchen counter."),
    ("Why don't oil and water mix?",
     "Water molecules attract each other strongly, while oil molecules are non-polar and cannot break into that network."),
    ("How can I make the crust of homemade bread crispier?",
     "Put a tray of hot water in the oven for the first part of baking, then bake the loaf until it is deep brown."),
    ("What herbs go well with tomatoes?",
     "Basil is the classic partner, and oregano, thyme and parsley also work well."),
    ("Is it okay to eat the skin of a kiwi?",
     "Yes, kiwi skin is edible and rich in fibre, as long as you wash the fruit first."),
    ("How do I keep fresh herbs longer?",
     "Stand soft herbs such as parsley in a glass of water and wrap woody herbs such as rosemary in a damp towel in the fridge."),
    ("What does simmer mean in a recipe?",
     "To simmer is to keep a liquid just below boiling, with small bubbles rising gently to the surface."),
    ("Why did my scrambled eggs turn rubbery?",
     "They were cooked over too high a heat or for too long, which squeezes water out of the egg proteins."),
    ("How do I soften hard brown sugar?",
     "Seal it in a container with a slice of bread or an apple wedge overnight so it takes up their moisture."),
    ("Can you explain what umami is?",
     "Umami is the savoury fifth basic taste, found in foods such as parmesan, mushrooms, soy sauce and ripe tomatoes."),
    ("What oil should I use for deep frying?",
     "Use a neutral oil with a high smoke point, such as sunflower, peanut or rapeseed oil."),
    # travel
    ("How early should I arrive at the airport for an international flight?",
     "Aim to arrive about three hours before departure so you have time for check-in, security and passport control."),
    ("What can I do to reduce jet lag?",
     "Shift your sleep towards the new time zone before you go, and on arrival get daylight and stay awake until local bedtime."),
    ("Should I exchange money before I travel abroad?",
     "It is handy to carry a little local cash, but a card without foreign fees usually gives a better rate than exchange desks."),
    ("Why do my ears pop on a plane?",
     "The cabin pressure changes during climb and descent, and your ears pop when the pressure behind the eardrum evens out."),
    ("How do I pack a suitcase to save space?",
     "Roll soft clothes tightly, fill your shoes with socks and put heavy items at the bottom near the wheels."),
    ("Can I take a power bank in my checked luggage?",
     "No, airlines require power banks and spare lithium batteries to travel in your cabin bag."),
    ("What is a layover?",
     "A layover is a stop between two flights where you wait at an airport for your connecting flight."),
    ("Give me one tip for keeping valuables safe while travelling.",
     "Keep your passport, cards and phone in an inside zip pocket or a money belt rather than a back pocket."),
    ("How long is an adult passport usually valid?",
     "In many countries an adult passport is valid for ten years, although the rules differ from country to country."),
    ("Why are window seats colder on planes?",
     "The cabin wall is close to the very cold air outside, so more heat is lost there than in the aisle."),
    ("What should I bring on a long train journey?",
     "Bring water, snacks, a charged phone with headphones and a warm layer in case the carriage is cold."),
    ("Is it worth buying travel insurance?",
     "For most trips abroad it is, because one medical emergency or cancelled flight can cost far more than the policy."),
    ("How can I avoid motion sickness in a car?",
     "Sit in the front, look at the horizon and let in some fresh air rather than reading."),
    ("Tell me what a visa is.",
     "A visa is official permission from a country to enter it for a certain purpose and length of time."),
    ("Should I tip in restaurants when I travel?",
     "It depends on the country, so check the local custom, since a tip is expected in some places and unusual in others."),
    ("What does the term jet stream mean?",
     "The jet stream is a fast band of wind high in the atmosphere that can make flights shorter in one direction and longer in the other."),
    ("How do I find cheap flights?",
     "Compare prices on several sites, be flexible with your dates and book a few weeks to a few months ahead."),
    ("Why do hotels ask for a credit card at check-in?",
     "They hold an amount on the card to cover extras or damage and release it after you check out."),
    ("What should I do if I lose my passport abroad?",
     "Report the loss to the local police and contact your country's embassy or consulate for an emergency travel document."),
    ("How can I keep my phone charged while hiking?",
     "Carry a small power bank, turn on low power mode and switch off mobile data when you do not need it."),
    # money
    ("What is compound interest?",
     "Compound interest is interest earned on both your original money and the interest already added to it."),
    ("How do I start a monthly budget?",
     "Write down your income, list your fixed costs, then set a limit for each kind of spending and track it for a month."),
    ("Why is it good to have an emergency fund?",
     "An emergency fund covers surprise costs such as repairs or job loss, so you do not have to borrow at high interest."),
    ("What is the difference between a debit card and a credit card?",
     "A debit card spends money from your own account, while a credit card borrows money that you repay later."),
    ("Should I pay off debt or save first?",
     "Pay off high-interest debt first while keeping a small cash buffer for emergencies."),
    ("Explain what inflation means.",
     "Inflation is the general rise in prices over time, which means the same money buys less."),
    ("Is it a good idea to pay only the minimum on a credit card?",
     "No, paying only the minimum keeps most of the balance as debt and costs much more in interest over time."),
    ("What is a credit score?",
     "A credit score is a number that lenders use to judge how likely you are to repay borrowed money on time."),
    ("How can I save money on groceries?",
     "Plan meals for the week, shop with a list and compare prices per kilo rather than per pack."),
    ("Why do banks pay interest on savings?",
     "Banks pay interest because they lend your deposits to other customers and earn more interest from them."),
    ("What is a pension?",
     "A pension is a savings plan that builds up money during your working life to give you an income when you retire."),
    ("Can I cancel a subscription I signed up for by mistake?",
     "Usually yes, and many services let you cancel within a short cooling-off period for a full refund."),
    ("What does diversification mean in investing?",
     "Diversification means spreading your money across many different investments so that one bad result does not hurt too much."),
    ("How do I spot a phishing email?",
     "Watch for urgent demands, odd sender addresses, spelling mistakes and links that ask you to log in or pay."),
    ("What is a mortgage?",
     "A mortgage is a long-term loan used to buy a home, with the home itself as security for the lender."),
    ("Why should I check my bank statement every month?",
     "Checking it helps you spot mistakes, forgotten subscriptions and fraud early."),
    ("Give me a simple rule for splitting my income.",
     "A popular rule is to spend half on needs, thirty percent on wants and twenty percent on savings."),
    ("What is an index fund?",
     "An index fund is an investment fund that simply follows a market index, which keeps its costs low."),
    ("How do I ask my bank to lower a fee?",
     "Call or write to them, say how long you have been a customer and ask politely whether the fee can be waived or reduced."),
    # computers
    ("How do I take a screenshot on Windows?",
     "Press the Windows key, Shift and S together, then drag over the area you want to capture."),
    ("Why is my computer running slowly?",
     "Common causes are too many programs starting at boot, a nearly full disk, too little memory or malware."),
    ("What is the difference between RAM and storage?",
     "RAM is fast temporary memory for work in progress, while storage keeps your files when the computer is off."),
    ("How can I make a strong password?",
     "Use a long passphrase of several unrelated words and a different one for every account, ideally kept in a password manager."),
    ("Should I install software updates right away?",
     "Yes, install them soon, because many updates fix security holes that attackers already know about."),
    ("What is two-factor authentication?",
     "Two-factor authentication asks for a second proof, such as a code from your phone, in addition to your password."),
    ("How do I free up space on my phone?",
     "Delete apps you do not use, clear out large videos and move photos to cloud or computer storage."),
    ("What does a VPN do?",
     "A VPN encrypts your internet traffic and sends it through another server, hiding it from the local network."),
    ("Why should I back up my files?",
     "Backups protect your files from disk failure, theft, ransomware and accidental deletion."),
    ("What is the cloud in computing?",
     "The cloud means using storage and programs that run on someone else's servers over the internet."),
    ("How do I restart a frozen laptop?",
     "Hold down the power button for about ten seconds until it turns off, then wait a moment and turn it on again."),
    ("Can a computer get a virus from opening an email?",
     "Reading an email is usually safe, but opening unknown attachments or links can infect your computer."),
    ("What is a browser cache?",
     "The browser cache is a store of copies of web pages and images that lets sites load faster on your next visit."),
    ("Explain what an IP address is.",
     "An IP address is a number that identifies a device on a network so that data can be delivered to it."),
    ("How can I improve my home Wi-Fi signal?",
     "Place the router high up in a central spot, away from thick walls and metal objects."),
    ("What does a CPU do?",
     "The CPU is the chip that carries out the instructions of programs, one small step at a time."),
    ("Why do programs ask me to restart after installing?",
     "Some files are in use while the system runs, so a restart lets the installer replace them safely."),
    ("What is open source software?",
     "Open source software is published with its source code, which anyone may read, change and share under its licence."),
    ("How do I copy and paste on a Mac?",
     "Press Command and C to copy, then Command and V to paste."),
    ("What is a spreadsheet used for?",
     "A spreadsheet organises numbers and text in rows and columns and can calculate totals and charts from them."),
    ("Should I shut down my computer every night?",
     "It is not necessary, but shutting down or restarting now and then applies updates and clears up small problems."),
    ("What is the difference between a URL and a domain name?",
     "A domain name is the name of a website, while a URL is the full address of one page on it."),
    ("How do I know if a website is secure?",
     "Check that the address starts with https and that the domain name is spelled exactly right."),
    ("What is a PDF file?",
     "A PDF is a document format that keeps the same layout, fonts and images on every device."),
    ("Why does my laptop battery lose capacity over time?",
     "Lithium-ion batteries wear a little with every charge cycle and with heat, so they hold less energy as they age."),
    # health basics
    ("How much sleep does an adult need?",
     "Most adults need between seven and nine hours of sleep a night."),
    ("Why is it important to wash my hands?",
     "Washing with soap for at least twenty seconds removes germs that spread colds, flu and stomach bugs."),
    ("What is a healthy resting heart rate?",
     "For most adults a resting heart rate between sixty and one hundred beats per minute is normal."),
    ("Should I stretch before running?",
     "A few minutes of gentle movement such as brisk walking and leg swings warms you up better than long static stretches."),
    ("Why do we get hiccups?",
     "Hiccups happen when the diaphragm suddenly tightens and the vocal cords snap shut, which makes the hic sound."),
    ("How can I protect my skin from the sun?",
     "Wear sunscreen of at least SPF 30, cover up with a hat and clothing, and stay in the shade around midday."),
    ("What is the best way to treat a minor burn?",
     "Hold the burn under cool running water for twenty minutes, then cover it loosely with cling film or a clean dressing."),
    ("Is it bad to crack your knuckles?",
     "Research has found no link between knuckle cracking and arthritis, although the noise can annoy people nearby."),
    ("How can I get to sleep more quickly?",
     "Keep a regular bedtime, avoid screens and caffeine late in the day and keep your bedroom cool and dark."),
    ("Why does my foot fall asleep?",
     "Pressure on a nerve briefly blocks its signals, and the pins and needles come as it recovers."),
    ("What should I eat to get more fibre?",
     "Eat more whole grains, beans, lentils, vegetables, fruit and nuts."),
    ("How often should I replace my toothbrush?",
     "Replace it every three months, or sooner if the bristles are frayed."),
    ("Can drinking water help with headaches?",
     "Yes, dehydration is a common trigger of headaches, so a glass or two of water can help."),
    ("What is a normal body temperature?",
     "A normal body temperature is around 37 degrees Celsius, give or take half a degree."),
    ("Why should I sit less during the day?",
     "Long periods of sitting are linked to poorer heart health, so standing up and moving every half hour helps."),
    ("How do I care for a small cut?",
     "Rinse it with clean water, press gently to stop the bleeding and cover it with a plaster."),
    ("What are the first signs of dehydration?",
     "Thirst, dark yellow urine, tiredness and a dry mouth are early signs of dehydration."),
    ("Give me a simple exercise I can do at my desk.",
     "Sit tall and roll your shoulders slowly backwards ten times to loosen your neck and upper back."),
    ("Why do muscles feel sore a day after exercise?",
     "Hard or unfamiliar exercise causes tiny strains in muscle fibres, and the soreness comes as they repair."),
    # gardening
    ("When is the best time to water plants?",
     "Water in the early morning so the roots get moisture before the heat of the day and the leaves dry quickly."),
    ("How do I know if my houseplant needs water?",
     "Push a finger into the soil, and if the top two or three centimetres are dry, it is time to water."),
    ("Why are the leaves on my plant turning yellow?",
     "Yellow leaves are most often caused by overwatering, but poor light and a lack of nutrients can also be to blame."),
    ("What is compost?",
     "Compost is decayed plant and food waste that adds nutrients to soil and improves its structure."),
    ("Can I grow tomatoes on a balcony?",
     "Yes, tomatoes grow well in large pots on a sunny balcony as long as they are watered regularly."),
    ("How deep should I plant flower bulbs?",
     "Plant bulbs pointed end up at a depth of about two to three times their own height."),
    ("Why do gardeners add mulch to beds?",
     "Mulch keeps moisture in the soil, suppresses weeds and protects roots from heat and cold."),
    ("What plants are easy for beginners to keep indoors?",
     "Snake plants, pothos and spider plants are forgiving choices that cope with low light and irregular watering."),
    ("How do I get rid of aphids without chemicals?",
     "Spray them off with a strong jet of water or wipe them away with soapy water, and welcome ladybirds that eat them."),
    ("Should I cut the brown tips off my plant leaves?",
     "You can trim brown tips with clean scissors for looks, but also check the watering and humidity that caused them."),
    ("What does it mean when a plant is perennial?",
     "A perennial plant lives for more than two years and usually comes back every growing season."),
    ("How often should I mow my lawn?",
     "In the growing season, mow about once a week and never remove more than a third of the grass height at a time."),
    ("Why do plants need sunlight?",
     "Plants use the energy in sunlight to make sugar from carbon dioxide and water in photosynthesis."),
    ("Can I use coffee grounds in the garden?",
     "Yes, used coffee grounds can go into the compost or be mixed into the soil in small amounts."),
    ("How do I repot a houseplant?",
     "Choose a pot slightly larger than the old one, ease the plant out, loosen the roots and set it at the same depth in fresh compost."),
    ("What vegetables grow quickly from seed?",
     "Radishes, lettuce and spinach can be ready to harvest in about a month."),
    ("Why do my seedlings grow tall and floppy?",
     "Leggy seedlings are stretching for light, so move them to a brighter spot or closer to a grow light."),
    ("When should I prune roses?",
     "Prune most roses in late winter or early spring, just as the buds begin to swell."),
    ("Is rainwater better than tap water for plants?",
     "Rainwater is often better, especially for plants that dislike the lime found in hard tap water."),
    ("How do I keep cats out of my vegetable patch?",
     "Lay twiggy prunings or chicken wire over bare soil and scatter citrus peel, which many cats dislike."),
    # work
    ("How should I prepare for a job interview?",
     "Research the company, practise answers to common questions with real examples and prepare a few questions of your own."),
    ("What is a good way to end a professional email?",
     "Finish with a clear next step and a simple closing such as Kind regards followed by your name."),
    ("How can I stay focused while working from home?",
     "Keep a fixed workspace and schedule, turn off notifications and work in blocks with short breaks."),
    ("Should I ask for a raise?",
     "If your role has grown or you are paid below the market rate, ask for a meeting and bring evidence of your results."),
    ("What is a cover letter for?",
     "A cover letter introduces you to an employer and explains why you fit the job in a way a CV cannot."),
    ("How do I run a short and useful meeting?",
     "Share an agenda beforehand, invite only the people needed, keep to time and end with clear actions and owners."),
    ("Give me a tip for public speaking nerves.",
     "Rehearse out loud several times and take slow breaths before you start, since the first minute is usually the hardest."),
    ("How can I say no to extra work politely?",
     "Thank the person, explain what you are already working on and ask which task should take priority."),
    ("What is networking in a career sense?",
     "Networking means building relationships with people in your field who can share advice, news and opportunities."),
    ("Why are deadlines useful?",
     "Deadlines turn vague goals into concrete plans and help a team agree who does what by when."),
    ("What should I include in my CV?",
     "Include your contact details, a short profile, recent work experience with achievements, education and key skills."),
    ("How do I give constructive feedback to a colleague?",
     "Describe the specific behaviour and its effect, then suggest a change and listen to their view."),
    ("Is it normal to feel tired after a long video call?",
     "Yes, video calls are tiring because you watch faces closely and miss many natural cues, so short breaks help."),
    ("Tell me how to organise a busy to-do list.",
     "Mark what is both urgent and important, do those tasks first and schedule or drop the rest."),
    ("What does a notice period mean?",
     "A notice period is the time you must keep working after you resign, or that an employer must give before ending your contract."),
    # science trivia
    ("Why is the sky blue?",
     "Air molecules scatter blue sunlight much more than red light, so blue light reaches our eyes from every direction."),
    ("How far away is the Moon?",
     "The Moon is about 384,000 kilometres from Earth on average."),
    ("What is the largest planet in our solar system?",
     "Jupiter is the largest planet, more than eleven times wider than Earth."),
    ("Why do we have seasons?",
     "Earth's axis is tilted, so each hemisphere gets more direct sunlight during part of the year and less during the rest."),
    ("What is the boiling point of water at sea level?",
     "Pure water boils at 100 degrees Celsius at sea level."),
    ("How many bones are in the adult human body?",
     "An adult human skeleton usually has 206 bones."),
    ("What makes a rainbow?",
     "Sunlight is bent and reflected inside raindrops, which splits it into its colours."),
    ("Why does ice float on water?",
     "Water expands when it freezes, so ice is less dense than liquid water and floats."),
    ("What is the speed of light?",
     "Light travels at about 300,000 kilometres per second in a vacuum."),
    ("How do bees make honey?",
     "Bees collect nectar, add enzymes to it and fan it with their wings in the hive until most of the water evaporates."),
    ("What is the closest star to Earth?",
     "The Sun is the closest star, and the next nearest is Proxima Centauri at just over four light years away."),
    ("Why does the Moon change shape?",
     "The Moon does not really change shape, but we see different amounts of its sunlit half as it orbits Earth."),
    ("What is DNA?",
     "DNA is the molecule in cells that carries the genetic instructions for how a living thing grows and works."),
    ("How do magnets work?",
     "In a magnet the tiny magnetic fields of many electrons line up in the same direction and add up to a strong field."),
    ("What gas do plants release?",
     "Plants release oxygen as a by-product of photosynthesis."),
    ("Why is the ocean salty?",
     "Rivers carry dissolved minerals from rocks into the sea, and when water evaporates the salt stays behind."),
    ("What is the hardest natural substance?",
     "Diamond is the hardest natural material, made of carbon atoms in a tightly bonded lattice."),
    ("How does thunder happen?",
     "Lightning heats the air so quickly that it expands with a bang that we hear as thunder."),
    ("What is an atom made of?",
     "An atom has a nucleus of protons and neutrons surrounded by electrons."),
    ("Why do cats purr?",
     "Cats purr by vibrating muscles in the larynx, often when content but also to calm themselves when stressed."),
    ("How long does light from the Sun take to reach Earth?",
     "Sunlight takes about eight minutes and twenty seconds to reach Earth."),
    ("What is gravity?",
     "Gravity is the force by which masses attract each other, which keeps us on the ground and the planets around the Sun."),
    ("Why do leaves change colour in autumn?",
     "As days shorten, trees stop making green chlorophyll, which reveals yellow and orange pigments and lets red ones form."),
    ("Which animal is the largest on Earth?",
     "The blue whale is the largest animal known to have lived on Earth."),
    ("What is the freezing point of water in Fahrenheit?",
     "Water freezes at 32 degrees Fahrenheit."),
    # language
    ("What is the difference between affect and effect?",
     "Affect is usually a verb meaning to influence, while effect is usually a noun meaning a result."),
    ("When do I use its versus it's?",
     "Use it's only as a short form of it is or it has, and its for possession, as in the dog wagged its tail."),
    ("What does the word ubiquitous mean?",
     "Ubiquitous means present or found everywhere."),
    ("How can I learn a new language faster?",
     "Practise a little every day, speak from the start and listen to real conversations, podcasts or shows."),
    ("Is it wrong to end a sentence with a preposition?",
     "No, ending a sentence with a preposition is normal in English and often sounds more natural."),
    ("What is a synonym?",
     "A synonym is a word that means the same or nearly the same as another word, such as big and large."),
    ("Explain the difference between fewer and less.",
     "Use fewer for things you can count and less for amounts you cannot, as in fewer cups and less water."),
    ("What is an idiom?",
     "An idiom is a phrase whose meaning differs from its words, such as break the ice."),
    ("How do you say thank you in Spanish?",
     "In Spanish, thank you is gracias."),
    ("What does the abbreviation ASAP stand for?",
     "ASAP stands for as soon as possible."),
    ("Why is English spelling so irregular?",
     "English borrowed words from many languages, and its pronunciation kept changing after printing had fixed the spellings."),
    ("What is the plural of cactus?",
     "Both cacti and cactuses are accepted as the plural of cactus."),
    ("Should I use a comma before and in a list?",
     "The comma before and, called the Oxford comma, is optional, but it can prevent confusion, so use it consistently."),
    ("What does a semicolon do?",
     "A semicolon joins two closely related complete clauses without a word such as and or but."),
    ("Which language has the most native speakers?",
     "Mandarin Chinese has the most native speakers of any language."),
]

# Unseen prompts for the "follows the house style" generation check: no
# answers, no base-model answers, none in any pair split.
UNSEEN = [
    "How do I get chewing gum out of hair?",
    "What is the best way to store potatoes?",
    "Why does milk go sour?",
    "How can I keep my car windscreen from freezing overnight?",
    "What is a good way to remember people's names?",
    "Should I water succulents often?",
    "Why do we yawn?",
    "How do I clean a cast iron pan?",
    "What is the meaning of serendipity?",
    "How can I lower my electricity bill?",
    "What is a black hole?",
    "Give me a tip for writing a clear email subject line.",
    "How do I keep my glasses clean without scratching them?",
    "Why do stars twinkle?",
    "What should I pack for a weekend camping trip?",
    "How can I tell if a melon is ripe?",
    "What is a stock market?",
    "Explain how a refrigerator keeps food cold.",
    "How do I reset my router?",
    "Is it healthy to skip breakfast?",
    "Why do some people snore?",
    "How do I plant a tree properly?",
    "Why does popcorn pop?",
    "What is the capital of Australia?",
    "Tell me how to write a thank-you note.",
    "Can I recycle pizza boxes?",
    "How do volcanoes form?",
    "What is a haiku?",
    "Suggest a quick breakfast that keeps me full.",
    "How do I sharpen a kitchen knife?",
]


# ---------------------------------------------------------------- the style
def follows_house_style(text):
    """True when text is one sentence, a newline and SIGN_OFF.

    Exactly: after stripping surrounding whitespace the text ends with
    "\\n" + SIGN_OFF; the part before that newline, stripped, is non-empty,
    holds no newline, ends with one of . ! ? and, once decimals (a full stop
    between two digits) and the ABBREVIATIONS are removed, holds no other
    . ! or ? character.
    """
    text = text.strip()
    if not text.endswith("\n" + SIGN_OFF):
        return False
    body = text[: -len(SIGN_OFF) - 1].strip()
    if not body or "\n" in body or body[-1] not in ".!?":
        return False
    inner = re.sub(r"(?<=\d)\.(?=\d)", "", body[:-1])
    for abbreviation in ABBREVIATIONS:
        inner = inner.replace(abbreviation, "")
    return not re.search(r"[.!?]", inner)


def check_style_rule():
    """The rule on hand-made cases, so a change to it cannot pass unnoticed."""
    good = ["It costs 2.50 euros.\n" + SIGN_OFF, "Ask Dr. Lee first!\n" + SIGN_OFF,
            "  Yes, it is.  \n" + SIGN_OFF + "\n"]
    bad = ["It is.", "It is.\n" + SIGN_OFF + "\nMore.", "It is. Really.\n" + SIGN_OFF,
           "It is\n" + SIGN_OFF, "\n" + SIGN_OFF, "One.\nTwo.\n" + SIGN_OFF,
           "It is.\n- Harbor Desk", "Why? Because.\n" + SIGN_OFF]
    for text in good:
        assert follows_house_style(text), repr(text)
    for text in bad:
        assert not follows_house_style(text), repr(text)


# ---------------------------------------------------------------- checks
STOPWORDS = set("""a an the i my me you your we our it its is are was be do does did
can could should would how what why when where which who to of in on at for from
with by and or if so that this there about into than as tell give explain suggest
one some any way best good ever get""".split())


def norm(text):
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def content_stems(question):
    """Content words, crudely stemmed, so rewordings of one question match."""
    stems = set()
    for word in norm(question).replace("'", "").split():
        if word in STOPWORDS:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) > len(suffix) + 3:
                word = word[: -len(suffix)]
                break
        stems.add(word)
    return stems


def jaccard(a, b):
    return len(a & b) / len(a | b) if a | b else 1.0


def check_questions(questions):
    """No exact repeats, no near-duplicates; returns the closest pairs."""
    seen = {}
    for q in questions:
        key = norm(q)
        if key in seen:
            raise SystemExit(f"question appears twice: {q!r}")
        seen[key] = q
    stems = [content_stems(q) for q in questions]
    scored = sorted(((jaccard(stems[i], stems[j]), questions[i], questions[j])
                     for i, j in itertools.combinations(range(len(questions)), 2)),
                    reverse=True)
    worst = scored[0]
    if worst[0] >= NEAR_DUPLICATE:
        raise SystemExit(f"near-duplicate questions (Jaccard {worst[0]:.2f}): "
                         f"{worst[1]!r} / {worst[2]!r}")
    return scored[:5]


# ---------------------------------------------------------------- base answers
def read_cache(path):
    answers = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                try:
                    row = json.loads(line)
                    answers[row["prompt"]] = row["answer"]
                except (ValueError, KeyError) as e:
                    raise SystemExit(f"{path}:{number}: bad cache line ({e})")
    return answers


def generate(whet, model, questions, cache_path, jobs):
    """Ask the base model for every question missing from the cache."""
    missing = [q for q in questions if q not in read_cache(cache_path)]
    print(f"generating {len(missing)} base answers with {jobs} process(es)", flush=True)
    lock = threading.Lock()

    def answer(question):
        command = [whet] + GENERATE_ARGS + (["--model", model] if model else []) + ["-p", question]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"whet failed on {question!r}: {done.stderr.strip()}")
        with lock, open(cache_path, "a", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps({"prompt": question, "answer": done.stdout.strip()},
                               ensure_ascii=False) + "\n")
        return question

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for n, question in enumerate(pool.map(answer, missing), 1):
            print(f"  {n}/{len(missing)} {question}", flush=True)


# ---------------------------------------------------------------- build
def split_pairs(seed):
    order = list(range(len(PAIRS)))
    random.Random(seed).shuffle(order)
    n_val, n_test = SPLIT_SIZES["val"], SPLIT_SIZES["test"]
    return {"train": order[n_val + n_test:], "val": order[:n_val],
            "test": order[n_val:n_val + n_test]}


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{path}: {len(rows)} lines")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=here, help="output directory (default: next to this script)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--generate", action="store_true",
                    help="first ask the base model for answers missing from the cache")
    ap.add_argument("--whet", default="build/whet", help="whet binary for --generate")
    ap.add_argument("--model", default="", help="model for --generate (default: whet's own)")
    ap.add_argument("--jobs", type=int, default=1, help="whet processes at once for --generate")
    args = ap.parse_args()

    check_style_rule()
    questions = [q for q, _ in PAIRS]
    if any(not norm(q) for q in questions + UNSEEN):
        raise SystemExit("a question is empty")
    closest = check_questions(questions + UNSEEN)
    print("closest question pairs (content-word Jaccard):")
    for score, a, b in closest:
        print(f"  {score:.2f}  {a} / {b}")
    chosen = {q: f"{a}\n{SIGN_OFF}" for q, a in PAIRS}
    failing = [q for q, text in chosen.items() if not follows_house_style(text)]
    if failing:
        raise SystemExit(f"chosen answers breaking the house style: {failing}")

    cache_path = os.path.join(here, CACHE)
    if args.generate:
        generate(args.whet, args.model, questions, cache_path, args.jobs)
    rejected = read_cache(cache_path)
    missing = [q for q in questions if q not in rejected]
    if missing:
        raise SystemExit(f"{cache_path}: no base answer for {len(missing)} questions, "
                         f"first {missing[0]!r}; run with --generate")

    os.makedirs(args.out, exist_ok=True)
    splits = split_pairs(args.seed)
    for split, indices in splits.items():
        write_jsonl(os.path.join(args.out, f"{split}.jsonl"),
                    [{"prompt": [{"role": "user", "content": PAIRS[i][0]}],
                      "chosen": [{"role": "assistant", "content": chosen[PAIRS[i][0]]}],
                      "rejected": [{"role": "assistant", "content": rejected[PAIRS[i][0]]}]}
                     for i in indices])
    # The same training questions as plain supervised examples (chosen only).
    write_jsonl(os.path.join(args.out, "sft_train.jsonl"),
                [{"messages": [{"role": "user", "content": PAIRS[i][0]},
                               {"role": "assistant", "content": chosen[PAIRS[i][0]]}]}
                 for i in splits["train"]])
    write_jsonl(os.path.join(args.out, "prompts.jsonl"),
                [{"messages": [{"role": "user", "content": q}]} for q in UNSEEN])
    styled = [q for q in questions if follows_house_style(rejected[q])]
    print(f"house style: chosen {len(chosen)}/{len(chosen)} pass, "
          f"rejected {len(styled)}/{len(questions)} pass")
    if styled:
        print("  rejected answers that follow the style:", *styled, sep="\n    ")


if __name__ == "__main__":
    main()
