from . import test_smpp_provider
