"""Wave comparisons: the staff comparison view, its charts, and the public results page."""
