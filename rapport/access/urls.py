from django.contrib.auth import views as auth_views
from django.urls import path

from rapport.access import views

app_name = "access"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("preferences/", views.preferences, name="preferences"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("app-passwords/", views.app_password_list, name="app_passwords"),
    path(
        "app-passwords/<int:pk>/revoke/",
        views.app_password_revoke_view,
        name="app_password_revoke",
    ),
    path("users/", views.user_list, name="users"),
    path("users/<int:pk>/", views.user_change, name="user_change"),
    path("healthz", views.healthz, name="healthz"),
]
