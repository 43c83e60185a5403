# Unit suites of pipeline/ (config, queue, shards + acknowledgements with an in-memory FHIR writer).
iomt_add_test(test_pipeline
  SOURCES unit/pipeline/config_test.cpp unit/pipeline/bounded_queue_test.cpp unit/pipeline/pipeline_test.cpp
          unit/pipeline/outcome_test.cpp unit/pipeline/fork_join_test.cpp unit/pipeline/event_trace_test.cpp
          unit/pipeline/window_rule_test.cpp
  LIBS iomt_pipeline)
# Log lines: long values cut with a marker (issue 12).
iomt_add_test(test_pipeline_log
  SOURCES unit/pipeline/log_test.cpp
  LIBS iomt_pipeline)
