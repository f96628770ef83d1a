"""Regenerate every figure and table into figures/out/."""

from figures import staleness_tv_table, validation_table

if __name__ == "__main__":
    staleness_tv_table.main()
    validation_table.main()
