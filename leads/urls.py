from leads import views_intake, views_seller

# Pages: the seller's lead table and detail (views_seller), hosted forms and CSV import (views_intake).
urlpatterns = [*views_seller.urlpatterns, *views_intake.urlpatterns]
