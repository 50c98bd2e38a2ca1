"""``langspan serve``: the models loaded once behind an HTTP API (optional extra ``langspan[serve]``).

``app`` imports FastAPI; nothing here does, so ``langspan --help`` works without the extra.
"""
