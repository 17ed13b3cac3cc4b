# Asks, auctions and bids arrive with the auctions issue (roadmap step 3).
