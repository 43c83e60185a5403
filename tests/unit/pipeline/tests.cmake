# Unit suites of pipeline/ (config, queue, shards + acknowledgements with an in-memory FHIR writer).
iomt_add_test(test_pipeline
  SOURCES unit/pipeline/config_test.cpp unit/pipeline/bounded_queue_test.cpp unit/pipeline/pipeline_test.cpp
          unit/pipeline/outcome_test.cpp
  LIBS iomt_pipeline)
