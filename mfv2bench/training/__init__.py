"""Training MixFormerV2 with the paper's distillation-based model reduction (``mfv2bench train``).

Layer: above ``trackers`` and ``datasets`` (it builds their networks and reads their data),
beside ``runner``; nothing below imports it. Recipes (``recipe.py``) declare the data and the
stages; ``pipeline.train_recipe`` runs them.
"""
