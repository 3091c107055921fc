from rapport.insights.views.kpis import kpi_delete, kpi_edit, kpi_list, summary
from rapport.insights.views.reports import dashboard, drill, home, report

__all__ = ["dashboard", "drill", "home", "kpi_delete", "kpi_edit", "kpi_list", "report", "summary"]
