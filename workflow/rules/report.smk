# The HTML report (`snakemake --report results/report.html`); what a run does when it ends.


include: "inputs/report.smk"


report: "../report/workflow.rst"


onsuccess:
    print_summary(SUMMARY)
