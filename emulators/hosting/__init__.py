"""Local Firebase Hosting: the web app's build output and firebase.json's rewrites."""
