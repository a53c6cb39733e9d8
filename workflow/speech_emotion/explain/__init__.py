"""Explanations measured on the cross-validation's test folds only (rules clip_levels, explain, explain_summary).

- :mod:`.groups`: the classifier's input columns grouped as a reader asks about them: openSMILE
  functionals by family (pitch, loudness, spectral, cepstral, voice quality, temporal), descriptor and
  feature; encoder embeddings by layer and by pooling statistic (mean, std); a fusion by member too;
- :mod:`.importance`: permutation importance of each group, each CV fold's model on its own test
  fold (the model is never refitted), summarised over folds with a 95 % interval;
- :mod:`.nuisance`: how much clip duration, loudness and speaker identity the model's outputs carry;
- :mod:`.report`: the figure, the run's HTML table and the model card's section.

Nothing here fits anything on a test fold's emotion labels: they only score (docs/explain.md).
"""
