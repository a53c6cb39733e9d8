# The HTML report (`snakemake --report results/report.html`); what a run does when it starts and ends.


report: "../report/workflow.rst"


onstart:
    clear_rebuilt_markers(CACHE_ROOTS)


onsuccess:
    print_summary("results/summary.tsv")
