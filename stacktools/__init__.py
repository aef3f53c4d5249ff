"""The kit's template read in Python, for its tests, its benchmarks, its operators and the simulator.

- ``template``: template.yaml as data (CloudFormation-aware YAML, SAM's globals, intrinsic functions resolved);
- ``tables``: a table's CreateTable request, as CloudFormation makes it;
- ``streams``: a DynamoDB stream record, as Lambda hands it over;
- ``dynamodb_lock``: moto's DynamoDB one request at a time, so conditional writes are atomic as DynamoDB's are;
- ``import_table``: the two files CloudFormation's resource import takes to re-attach a kept orders table.

None of it runs on Lambda.
"""
