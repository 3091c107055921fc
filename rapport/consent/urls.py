from django.urls import path

from rapport.consent.views import contact, public, purposes

app_name = "consent"

urlpatterns = [
    path("settings/purposes/", purposes.purpose_list, name="purposes"),
    path("settings/purposes/new/", purposes.purpose_create, name="purpose_create"),
    path("settings/purposes/<int:pk>/", purposes.purpose_edit, name="purpose"),
    path("settings/purposes/<int:pk>/archive/", purposes.purpose_archive, name="purpose_archive"),
    path("settings/purposes/<int:pk>/delete/", purposes.purpose_delete, name="purpose_delete"),
    path("contacts/<int:pk>/consent/", contact.contact_consent, name="contact"),
    # public: no sign-in (see rapport.access.middleware)
    path("public/consent/<slug:key>/", public.signup_form, name="signup"),
    path("public/consent/confirm/<str:token>/", public.signup_confirm, name="confirm"),
]
