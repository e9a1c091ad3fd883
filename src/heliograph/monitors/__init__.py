"""Feedback monitors at run time: the evaluator and the webhook sender, one of each across processes."""
