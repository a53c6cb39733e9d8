# Input functions and constants of cross.smk (functions live apart from rules: snakemake --lint).
# results/cross/models/{train}/{encoder}/plan.json and .../{classifier}/model.zip: trained once per
# train corpus on all its clips with a common label; results/cross/{train}__{test}/{encoder}/{classifier}/:
# predictions of the test corpus, metrics.json, figures. Nothing here runs unless `cross` names pairs.
CROSS_PAIRS = [(pair["train"], pair["test"]) for pair in config["cross"]]


def corpus_manifest(name):
    return MANIFEST_OF.format(corpus_dir=corpus_dir(name))


def cross_train_shards(wildcards):
    """The train corpus's embedding shards: every variant for the primary corpus (its copies may
    train, as the plan decides), clean for an extra corpus."""
    return embedding_layout(wildcards.encoder, name=wildcards.train)


def cross_train_embeddings(wildcards):
    return shard_files(cross_train_shards(wildcards))


def cross_train_manifest(wildcards):
    return corpus_manifest(wildcards.train)


def cross_test_shards(wildcards):
    """The test corpus's clean embedding shards (its clips are only ever predicted)."""
    return embedding_layout(wildcards.encoder, "clean", name=wildcards.test)


def cross_test_embeddings(wildcards):
    return shard_files(cross_test_shards(wildcards))


def cross_test_manifest(wildcards):
    return corpus_manifest(wildcards.test)


def cross_member_plans(wildcards):
    """A fusion's cross plan reuses its members' cross plans of the same train corpus (their layers)."""
    return expand(CROSS_PLAN, train=wildcards.train, encoder=fusion_members(wildcards.encoder))


def cross_members(wildcards):
    """Ensemble: its members' cross models of the same train corpus and encoder."""
    if wildcards.classifier != "ensemble":
        return {}
    members = config["classifiers"]["ensemble"]["members"]
    return {"members": expand(f"{CROSS_MODEL}/model.zip", train=wildcards.train,
                              encoder=wildcards.encoder, classifier=members)}


def cross_metrics(wildcards=None):
    """metrics.json of every cross pair x encoder x classifier of the run (rule summary)."""
    return [
        f"{CROSS_PAIR}/metrics.json".format(train=train, test=test, encoder=encoder, classifier=classifier)
        for train, test in CROSS_PAIRS
        for encoder in config["run"]["encoders"]
        for classifier in config["run"]["classifiers"]
    ]


def cross_targets():
    return [
        path.replace("metrics.json", name) for path in cross_metrics() for name in
        ("metrics.json", "confusion.png", "per_class.png")
    ]
