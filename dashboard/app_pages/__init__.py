"""The dashboard's pages; each is a script run by ``st.navigation`` in streamlit_app.py."""
