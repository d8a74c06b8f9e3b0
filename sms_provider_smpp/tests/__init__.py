from . import test_smpp_provider
from . import test_smpp_tour
from . import test_smpp_jasmin
