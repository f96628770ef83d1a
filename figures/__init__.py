"""Figure and table scripts: one per artefact, fixed inputs, output in figures/out/.

``python -m figures`` regenerates all of them.
"""
