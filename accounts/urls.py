from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("accounts/signup/", views.sign_up, name="signup"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", views.password_reset, name="password-reset"),
    path("password/reset/done/", views.password_reset_done, name="password-reset-done"),
    path("password/reset/complete/", views.password_reset_complete, name="password-reset-complete"),
    path("password/reset/<uidb64>/<token>/", views.password_reset_confirm, name="password-reset-confirm"),
    path("account/", views.account, name="account"),
    path("account/email/confirm/<str:token>/", views.email_verify, name="email-verify"),
    path("account/email/resend/", views.email_verify_resend, name="email-verify-resend"),
    path("account/api-keys/", views.api_key_create, name="api-key-create"),
    path("account/api-keys/<int:api_key_id>/revoke/", views.api_key_revoke, name="api-key-revoke"),
]
