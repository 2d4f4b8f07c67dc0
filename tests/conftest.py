import os

# Quiet TensorFlow's C++ start-up logging; keep JAX and TF on the CPU here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
