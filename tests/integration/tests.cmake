# Integration suites: real peers (the in-memory FHIR server, RabbitMQ), started by scripts/peers
# through scripts/test (which exports FHIR_URL / AMQP_*), or by the fixtures themselves.
foreach(area fhir pipeline fault amqp security)
  include(integration/${area}/tests.cmake OPTIONAL)
endforeach()
