# Unit suites of mapping/ (paths relative to tests/).
foreach(area text json jsonpath jmespath device fhir cli)
  include(unit/mapping/${area}/tests.cmake OPTIONAL)
endforeach()
