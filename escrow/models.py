# Escrow deals arrive with the settlement issue (roadmap step 4).
