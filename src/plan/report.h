// Renders a Plan: the human report (text), the same content as JSON (--format json), and the
// chart of cumulative cost per option over the horizon (SVG).
#pragma once

#include <string>

#include "plan/planner.h"

namespace fathom::plan {

std::string render_text(const Plan& p);
std::string render_json(const Plan& p);
/// Cumulative cost per available option, month by month; a standalone SVG document.
std::string render_cost_chart_svg(const Plan& p);

}  // namespace fathom::plan
