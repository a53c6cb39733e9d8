# The HTML report (`snakemake --report results/report.html`) and the summary at the end of a run.


report: "../report/workflow.rst"


onsuccess:
    print_summary("results/summary.tsv")
