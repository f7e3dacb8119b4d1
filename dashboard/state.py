"""Every st.session_state key the dashboard uses, in one place."""
HOME = "arena_home"  # the data folder the dashboard reads (str)
FORM_PREFIX = "new_run:"  # prefix of the New run form's widget keys
LAST_LAUNCHED = "last_launched_run"  # run id started from the New run page (str)
