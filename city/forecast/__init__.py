"""Forecasts for the command centre: daily settled-payment count and value per kelurahan and for the
whole city, 90 days ahead with 80% intervals, backtested against a seasonal-naive baseline.

:mod:`city.forecast.series` builds the daily series from the books, :mod:`city.forecast.model`
fits the exponential-smoothing model, :mod:`city.forecast.backtest` scores it against the baseline,
:mod:`city.forecast.compute` runs and stores it all, :mod:`city.forecast.reading` reads it back.
"""
