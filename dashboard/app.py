"""RNN Arena dashboard: `streamlit run dashboard/app.py`. Navigation only."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="RNN Arena", page_icon="🫀", layout="wide")
pages = [
    st.Page(str(ROOT / "dashboard" / "views" / "home.py"), title="Home", icon="🏠", default=True),
    st.Page(str(ROOT / "dashboard" / "views" / "data.py"), title="Data", icon="🔎", url_path="data"),
    st.Page(str(ROOT / "dashboard" / "views" / "new_run.py"), title="New run", icon="▶️", url_path="new-run"),
    st.Page(str(ROOT / "dashboard" / "views" / "comparison.py"), title="One-click comparison", icon="🏁",
            url_path="comparison"),
    st.Page(str(ROOT / "dashboard" / "views" / "monitor.py"), title="Monitor", icon="⏱️", url_path="monitor"),
    st.Page(str(ROOT / "dashboard" / "views" / "report.py"), title="Run report", icon="📊", url_path="report"),
    st.Page(str(ROOT / "dashboard" / "views" / "compare.py"), title="Compare", icon="⚖️", url_path="compare"),
    st.Page(str(ROOT / "dashboard" / "views" / "studies.py"), title="Studies", icon="🧪", url_path="studies"),
]
st.navigation(pages).run()
