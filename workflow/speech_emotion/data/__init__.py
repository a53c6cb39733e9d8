"""Stage data (rules/data.smk): the corpus and its clips, the download, the demo corpus, the speaker folds and the train/test splits."""
