# Unity build of the library, the commands and the tests (WHET_UNITY_BUILD, which `make build`
# and `make test` turn on): they compile in batches (the batch files are written at
# the end of this file), each batch one translation unit, so the headers every file
# includes (the standard library, JSON, fmt, httplib, yaml-cpp) are parsed and their
# templates instantiated once a batch instead of once a file. On a cold build (GCC 12,
# with the precompiled headers) whet_lib and whet took 323 s of CPU instead of about
# 965 s; src/track's 12 files alone, 53.7 s one by one and 21.2 s as one batch. Through ccache, a clean clone whose
# batches are all cached builds in 16 s instead of about 9 minutes (2026-12-06).
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
# One batch a layer (src/<layer>), and the parser files of a layer in a batch of their
# own: whet_parser_asan_tests links its instrumented parsers before whet_lib, and the
# linker must never need a library member that holds a parser besides something else
# (it would define the parser twice).
foreach(source IN LISTS WHET_LIB_SOURCES WHET_CLI_SOURCES)
  file(RELATIVE_PATH relative ${CMAKE_SOURCE_DIR} ${source})
  if(relative IN_LIST WHET_UNITY_SKIPPED)
    continue()
  endif()
  get_filename_component(folder ${source} DIRECTORY)
  get_filename_component(layer ${folder} NAME)
  if(relative IN_LIST WHET_PARSER_SOURCES)
    set(layer ${layer}_parsers)
  endif()
  set_source_files_properties(${source} PROPERTIES WHET_BATCH ${layer})
endforeach()

# The tests, in batches of a folder each (tests/<layer>): whet_tests is most of a
# cold build's compile (688 s of its 1418 s of CPU file by file, 2026-12-06). Test
# files are full of small file-local helpers (tiny_model, parse, post, ...) that
# several files of a folder define alike; the files below define one that an
# earlier file of their folder also does, so each compiles on its own (the first
# file of a folder to define a name stays in the batch). Found by listing every
# file's top-level definitions, treating any shared name as a clash, overloads
# included: a batch must never pick another file's overload silently. The ctest
# check_unity_batches (tests/check_unity_batches.py) repeats that listing on every
# run and names the file to add here when a new helper clashes. The ASan
# parser tests batch the same way: their parsers by the layer groups above, their
# tests by folder, each a subset of a batch that compiles.
set(WHET_TEST_UNITY_SKIPPED
  tests/cli/test_cli_export.cpp tests/cli/test_cli_train.cpp tests/data/test_preference_data.cpp
  tests/data/test_prompt_dataset.cpp tests/data/test_tokenize_example.cpp tests/eval/test_pairwise.cpp
  tests/eval/test_pipeline_model.cpp tests/io/test_safetensors.cpp tests/models/test_export.cpp
  tests/models/test_llama_batch.cpp tests/models/test_llama_parity.cpp tests/models/test_lora_fused.cpp
  tests/models/test_lora_gguf.cpp tests/models/test_lora_merge.cpp tests/serve/test_feedback_request.cpp
  tests/serve/test_human_eval.cpp tests/serve/test_human_eval_request.cpp tests/serve/test_job_request.cpp
  tests/serve/test_job_store_feedback.cpp tests/serve/test_score_request.cpp
  tests/serve/test_server_human_eval.cpp tests/serve/test_server_jobs.cpp
  tests/serve/test_server_monitoring.cpp tests/serve/test_server_registry.cpp
  tests/serve/test_server_rl_jobs.cpp tests/tokenizer/test_tokenizer.cpp tests/track/test_registry.cpp
  tests/train/test_optimizer.cpp tests/train/test_preference_loss.cpp tests/train/test_trl_dpo_step.cpp
  tests/tune/test_search_space.cpp tests/tune/test_study_report.cpp)
foreach(source IN LISTS WHET_TEST_SOURCES)
  file(RELATIVE_PATH relative ${CMAKE_SOURCE_DIR} ${source})
  if(relative IN_LIST WHET_TEST_UNITY_SKIPPED)
    continue()
  endif()
  get_filename_component(folder ${source} DIRECTORY)
  get_filename_component(layer ${folder} NAME)
  set_source_files_properties(${source} PROPERTIES WHET_BATCH tests_${layer})
endforeach()

# The batch files, written here rather than by CMake's UNITY_BUILD: they include
# their files by paths relative to the source tree (CMake 3.25 writes absolute ones),
# so two clones compile the same text and a compiler cache (ccache with base_dir at
# the clone, as `make build` runs it) reuses one clone's objects in the next.
# A batched file is compiled only through its batch, in every target that lists it.
function(whet_compile_in_batches target)
  get_target_property(sources ${target} SOURCES)
  set(groups "")
  foreach(source IN LISTS sources)
    get_source_file_property(group ${source} WHET_BATCH)
    # A file with definitions of its own (run_record.cpp's version) compiles alone, as CMake's unity build did it.
    get_source_file_property(definitions ${source} COMPILE_DEFINITIONS)
    if(group AND NOT definitions)
      if(IS_ABSOLUTE ${source})
        file(RELATIVE_PATH relative ${CMAKE_SOURCE_DIR} ${source})
      else()
        set(relative ${source})
      endif()
      string(APPEND batch_${group} "#include \"${relative}\"\n")
      list(APPEND groups ${group})
      set_source_files_properties(${source} PROPERTIES HEADER_FILE_ONLY ON)
    endif()
  endforeach()
  list(REMOVE_DUPLICATES groups)
  foreach(group IN LISTS groups)
    set(batch ${CMAKE_BINARY_DIR}/batches/${target}/${group}.cpp)
    file(CONFIGURE OUTPUT ${batch} CONTENT "${batch_${group}}" @ONLY)
    target_sources(${target} PRIVATE ${batch})
  endforeach()
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR})
endfunction()
foreach(target whet_lib whet whet_tests whet_parser_asan_tests)
  whet_compile_in_batches(${target})
endforeach()
