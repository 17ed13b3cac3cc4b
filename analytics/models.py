# Rollups and dashboards arrive with the analytics issue (roadmap step 6).
