"""Models of the dashboards app (cohort intake counts live here)."""
