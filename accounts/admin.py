from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.html import format_html

from accounts import services
from accounts.models import ApiKey, User


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class EmailConfirmedFilter(admin.SimpleListFilter):
    title = "email confirmed"
    parameter_name = "email_confirmed"

    def lookups(self, request, model_admin):
        return (("yes", "Confirmed"), ("no", "Not confirmed"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(email_verified_at__isnull=self.value() == "no")
        return queryset


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("-date_joined",)
    list_display = (
        "email",
        "full_name",
        "company_name",
        "is_seller",
        "is_buyer",
        "is_staff",
        "is_active",
        "date_joined",
        "email_verified_at",
    )
    list_filter = ("is_seller", "is_buyer", "is_staff", "is_active", EmailConfirmedFilter, "time_zone")
    search_fields = ("email", "full_name", "company_name")
    readonly_fields = ("date_joined", "last_login", "welcome_email_sent_at", "email_verified_at")
    inlines = [ApiKeyInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "company_name", "time_zone")}),
        (
            "Roles",
            {
                "fields": (
                    "is_seller",
                    "is_buyer",
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        ("Dates", {"fields": ("date_joined", "last_login", "welcome_email_sent_at", "email_verified_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "password1", "password2", "is_seller", "is_buyer")}),
    )

    def save_model(self, request, obj, form, change):
        if change and "email" in form.changed_data:
            obj.email_verified_at = None  # a new address is unconfirmed until its owner clicks a link
        super().save_model(request, obj, form, change)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at", "active")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("prefix", "name", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    actions = ["revoke_keys"]

    # The secret is never stored: "add" issues a key through the service and shows it once.
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        # A key's owner never changes: a new owner gets a new key.
        return (*self.readonly_fields, "user") if obj else self.readonly_fields

    @admin.display(boolean=True)
    def active(self, obj):
        return obj.is_active

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        issued = services.api_key_create(user=obj.user, name=obj.name)
        obj.pk = issued.api_key.pk
        obj.__dict__.update({k: getattr(issued.api_key, k) for k in ("prefix", "hashed_key", "created_at")})
        messages.warning(
            request,
            format_html(
                "New key for {}: <code>{}</code> — copy it now; it is not shown again.", obj.user.email, issued.secret
            ),
        )

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request, queryset):
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            services.api_key_revoke(api_key=api_key)
            count += 1
        self.message_user(request, f"Revoked {count} key(s).")
