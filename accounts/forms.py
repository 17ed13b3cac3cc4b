from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import TIME_ZONE_CHOICES, User


class SignUpForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=150, required=False)
    company_name = forms.CharField(max_length=200, required=False)
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="America/New_York")
    is_seller = forms.BooleanField(required=False, label="I sell leads")
    is_buyer = forms.BooleanField(required=False, label="I buy leads")
    password = forms.CharField(widget=forms.PasswordInput, strip=False)

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email

    def clean(self):
        data = super().clean()
        if not data.get("is_seller") and not data.get("is_buyer"):
            raise forms.ValidationError("Choose at least one: selling or buying leads (you may do both).")
        password = data.get("password")
        if password:
            probe = User(email=data.get("email") or "", full_name=data.get("full_name") or "")
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False)
    company_name = forms.CharField(max_length=200, required=False)
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)
    is_seller = forms.BooleanField(required=False, label="I sell leads")
    is_buyer = forms.BooleanField(required=False, label="I buy leads")


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, initial="Integration")
