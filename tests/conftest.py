"""Settings every test shares: fake AWS credentials and the functions' Powertools environment."""

import os

for _name, _value in {
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "merchant-kit",
    "POWERTOOLS_METRICS_NAMESPACE": "MerchantKitTest",
}.items():
    os.environ.setdefault(_name, _value)
