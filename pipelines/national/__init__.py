"""Reading a notice the way China's procurement notices are written: body formats, amounts, dates, regions, types."""
