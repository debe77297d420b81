"""Operations on a model: training, simplification (scores, prune, refine), symbolic edges, formulas, I/O, plots."""
