# Leads arrive with the lead-ingestion issue (ARCHITECTURE.md roadmap step 2).
