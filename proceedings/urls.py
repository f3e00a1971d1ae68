from django.urls import path

app_name = "proceedings"
urlpatterns: list = []
