"""Every peer's display name, importable without any framework."""

REVGRAD = "pytorch-revgrad"
TGR = "torch-gradient-reversal"
COPY_NEG_MUL = "copy-neg-mul pattern (re-implemented)"
DETACH = "detach trick (re-implemented)"

CUSTOM_GRADIENT = "custom_gradient neg-mul pattern (re-implemented)"
LOSS_SUBTRACTION = "loss subtraction L_y − λ·L_d (re-implemented)"

CUSTOM_VJP = "custom_vjp neg-mul pattern (re-implemented)"
STOP_GRADIENT = "stop_gradient trick (re-implemented)"
