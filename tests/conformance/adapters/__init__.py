"""One adapter per backend: the whole interface the conformance suite needs.

A fourth backend joins the suite by adding a module here that defines a subclass of
:class:`~tests.conformance.adapters.base.Adapter` and listing it in ``ADAPTERS``.
"""

ADAPTERS = {
    "torch": "tests.conformance.adapters.torch_adapter:TorchAdapter",
    "tf": "tests.conformance.adapters.tf_adapter:TFAdapter",
    "jax": "tests.conformance.adapters.jax_adapter:JaxAdapter",
}
