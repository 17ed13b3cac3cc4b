# Contracts, signers and transactions arrive with the settlement issue (roadmap step 4).
