# Unity build of the library and the commands (WHET_UNITY_BUILD, which `make build`
# and `make test` turn on): CMake compiles them in batches, each batch one
# translation unit, so the headers every file includes (the standard library, JSON,
# fmt, httplib, yaml-cpp) are parsed and their templates instantiated once a batch
# instead of once a file. On a cold build (GCC 12, with the precompiled headers)
# whet_lib and whet took 323 s of CPU instead of about 965 s; src/track's 12 files alone,
# 53.7 s one by one and 21.2 s as one batch.
#
# In a batch, file-local names (anonymous namespaces, static functions, local
# `using` aliases) of one file are seen by the next. The files below define one
# that another file also defines, so each compiles on its own. They were found by
# compiling every file of a target as one translation unit with -fsyntax-only: a
# file that collides with none there collides with none in any batch.
# Same-named file-local functions that differ in parameters (integer_in, refuse_unknown,
# groups_of, ...) compile as overloads; none of them can take the other's calls.
# A new file that breaks the unity build with "redefinition of" joins this list
# (or gives its helper a name of its own).
# The tests and the ASan parser tests stay file by file: 72 of the 129 test files
# define a file-local helper under a name another test file uses too.
set(WHET_UNITY_SKIPPED
  src/eval/json_schema.cpp src/models/llama_block.cpp src/models/llama_train.cpp
  src/models/family_llama.cpp src/models/family_mistral.cpp src/models/family_qwen2.cpp src/models/family_gemma3.cpp
  src/models/family_phi3.cpp src/models/family_gpt2.cpp
  src/prepare/manifest.cpp src/prepare/minhash.cpp src/prepare/pii.cpp src/prepare/pipeline.cpp
  src/prepare/record_store.cpp src/prepare/report.cpp src/prepare/sources.cpp
  src/serve/human_eval_request.cpp src/serve/routes_human_eval.cpp src/serve/routes_registry.cpp
  src/tokenizer/chat_template.cpp src/tokenizer/pre_tokenizer.cpp src/tokenizer/sentencepiece_bpe.cpp
  src/tune/fold_split.cpp src/tune/objective.cpp src/tune/study_plots.cpp src/tune/svg_plot.cpp
  src/cli/cmd_train.cpp)
set_source_files_properties(${WHET_UNITY_SKIPPED} PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
# One batch a layer (src/<layer>), and the parser files of a layer in a batch of their
# own: whet_parser_asan_tests links its instrumented parsers before whet_lib, and the
# linker must never need a library member that holds a parser besides something else
# (it would define the parser twice).
set_target_properties(whet_lib whet PROPERTIES UNITY_BUILD ON UNITY_BUILD_MODE GROUP)
foreach(source IN LISTS WHET_LIB_SOURCES WHET_CLI_SOURCES)
  get_filename_component(folder ${source} DIRECTORY)
  get_filename_component(layer ${folder} NAME)
  file(RELATIVE_PATH relative ${CMAKE_SOURCE_DIR} ${source})
  if(relative IN_LIST WHET_PARSER_SOURCES)
    set(layer ${layer}_parsers)
  endif()
  set_source_files_properties(${source} PROPERTIES UNITY_GROUP ${layer})
endforeach()
