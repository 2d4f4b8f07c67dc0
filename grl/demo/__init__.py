"""The grl demo: domain-adversarial training that shows the gradient reversal layer at work.

Run ``python -m grl.demo`` (``--help`` for options). Two experiments, each trained as
"source only" and "DANN" from the same initial weights, in every installed framework:

* moons: two inter-twinning moons → the same moons rotated by 35° (Ganin et al., JMLR 2016).
* digits → digits-M: scikit-learn's digits → the same digits blended with colour photo
  patches, the MNIST → MNIST-M experiment with data that ships with scikit-learn.

Data, initial weights and mini-batch plans are made in NumPy (:mod:`grl.demo.data`,
:mod:`grl.demo.spec`) so the torch, TensorFlow and JAX runs are comparable number for number.
Needs scikit-learn, matplotlib and tqdm (``pip install 'grl[demo]'``).
"""
