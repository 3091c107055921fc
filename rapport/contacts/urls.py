from django.urls import path

from rapport.contacts.views import admin, contacts, lists, organizations

app_name = "contacts"

urlpatterns = [
    path("search/", contacts.search, name="search"),
    path("contacts/", contacts.contact_list, name="list"),
    path("contacts/new/", contacts.contact_create, name="create"),
    path("contacts/bulk/", lists.contact_bulk, name="bulk"),
    path("contacts/bulk/<int:pk>/", lists.bulk_job, name="bulk_job"),
    path(
        "lists/<str:list_name>/columns/",
        lists.list_columns,
        name="list_columns",
    ),
    path("lists/<str:list_name>/views/", lists.view_save, name="view_save"),
    path("lists/views/<int:pk>/delete/", lists.view_delete, name="view_delete"),
    path("contacts/lookup/", contacts.contact_lookup, name="lookup"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="detail"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="edit"),
    path("contacts/<int:pk>/delete/", contacts.contact_delete, name="delete"),
    path("contacts/<int:pk>/photo/", contacts.contact_photo, name="photo"),
    path(
        "contacts/<int:pk>/affiliations/new/",
        organizations.affiliation_add_from_contact,
        name="affiliation_add_from_contact",
    ),
    path("organizations/", organizations.organization_list, name="organizations"),
    path("organizations/bulk/", lists.organization_bulk, name="organization_bulk"),
    path("organizations/new/", organizations.organization_create, name="organization_create"),
    path("organizations/lookup/", organizations.organization_lookup, name="organization_lookup"),
    path("organizations/<int:pk>/", organizations.organization_detail, name="organization"),
    path("organizations/<int:pk>/edit/", organizations.organization_edit, name="organization_edit"),
    path(
        "organizations/<int:pk>/delete/",
        organizations.organization_delete,
        name="organization_delete",
    ),
    path(
        "organizations/<int:pk>/people/new/",
        organizations.affiliation_add_to_organization,
        name="affiliation_add_to_organization",
    ),
    path("affiliations/<int:pk>/edit/", organizations.affiliation_edit, name="affiliation_edit"),
    path("affiliations/<int:pk>/end/", organizations.affiliation_end, name="affiliation_end"),
    path(
        "affiliations/<int:pk>/delete/", organizations.affiliation_delete, name="affiliation_delete"
    ),
    path("tags/", admin.tag_list, name="tags"),
    path("tags/<int:pk>/edit/", admin.tag_edit, name="tag_edit"),
    path("tags/<int:pk>/delete/", admin.tag_delete, name="tag_delete"),
    path("settings/custom-fields/", admin.custom_field_list, name="custom_fields"),
    path("settings/custom-fields/new/", admin.custom_field_create, name="custom_field_create"),
    path(
        "settings/custom-fields/<int:pk>/edit/", admin.custom_field_edit, name="custom_field_edit"
    ),
    path(
        "settings/custom-fields/<int:pk>/delete/",
        admin.custom_field_delete,
        name="custom_field_delete",
    ),
]
