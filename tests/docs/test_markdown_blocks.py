"""The Markdown block finder: which blocks run, in what order, needing which frameworks."""

from pathlib import Path

from tests.docs.markdown_blocks import extract_blocks, frameworks_of

PAGE = """\
# Title

```python
import torch
from grl.torch import GradientReversal
layer = GradientReversal(0.5)
```

```bash
pip install grl
```

=== "JAX"

    ```python
    import jax.numpy as jnp
    x = jnp.ones(3)
    ```

<!-- docs-test: skip -->
```python
this is not run
```

````markdown
```python
inside a four-backtick fence: not a block of this page
```
````

```python
print(layer)
x = 1.0
```

```py title="redefines x before using it"
x = 2.0
print(x + 1)
```

~~~text
output
~~~
"""


def blocks():
    return extract_blocks(Path("page.md"), PAGE)


def test_only_python_fences_are_collected_in_page_order():
    found = blocks()
    assert [b.line for b in found] == [3, 15, 31, 36]
    assert found[0].code == (
        "import torch\nfrom grl.torch import GradientReversal\nlayer = GradientReversal(0.5)\n"
    )


def test_indented_fences_in_content_tabs_are_dedented():
    assert blocks()[1].code == "import jax.numpy as jnp\nx = jnp.ones(3)\n"


def test_skip_marker_and_nested_fences_exclude_blocks():
    codes = "".join(b.code for b in blocks())
    assert "this is not run" not in codes
    assert "four-backtick" not in codes


def test_a_block_needs_the_frameworks_of_the_blocks_it_uses():
    torch_block, jax_block, uses_layer, redefines_x = blocks()
    assert torch_block.backends == {"torch"}
    assert jax_block.backends == {"jax"}
    # `layer` comes from the torch block; `x` is bound here, so the JAX block is not needed.
    assert uses_layer.backends == {"torch"}
    # binds x itself before use: depends on nothing
    assert redefines_x.backends == set()


def test_module_names_map_to_backends():
    assert frameworks_of({"grl.tf"}) == {"tf"}
    assert frameworks_of({"keras.layers"}) == {"tf"}
    assert frameworks_of({"flax.nnx", "optax"}) == {"jax"}
    assert frameworks_of({"grl.core.schedules", "numpy"}) == set()
