"""Every st.session_state key the dashboard uses, in one place."""
HOME = "arena_home"  # the data folder the dashboard reads (str)
